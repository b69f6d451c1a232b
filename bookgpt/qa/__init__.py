"""Question-answer pairs generated from a book's own text, and their prompt formats."""
