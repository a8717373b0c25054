"""`python -m tools.archive import|export`: bring the X data archive's likes in, take every capture out."""
