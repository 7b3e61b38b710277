"""Pure domain logic: no I/O frameworks, no Textual, no Rich."""
