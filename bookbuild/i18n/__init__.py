"""Translation: catalogs (Babel's .po files, read and written here only),
messages (a chapter's prose as messages and back), diagrams (the words in
SVG figures) and furniture (the strings the build writes on a page)."""
