"""Real annotated pages: PAGE-XML and ALTO readers (regions, lines, polygons, baselines,
reading order, line text under the label text policy), as Transkribus, eScriptorium/Kraken,
OCR-D, Loghi and ABBYY export them."""
