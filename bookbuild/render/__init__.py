"""The page: merged chapters drawn as HTML (book: the pages and the index;
cells: tab groups and outputs; markdown: prose; page: the shell around
them; figures_table: the frameworks' final figures side by side)."""
