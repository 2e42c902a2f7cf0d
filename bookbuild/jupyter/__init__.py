"""The book in Jupyter: kernels (one per framework), lab (JupyterLab's
settings), labcontents (chapters open as notebooks) and pngtwin (the PNG a
diagram carries for JupyterLab)."""
