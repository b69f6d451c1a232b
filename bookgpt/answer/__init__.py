"""Answering readers' questions from a book's own sentences: retrieve (find the windows that answer),
extract (cut candidates shaped by the question), choose (the model's say), readers (the measure)."""
