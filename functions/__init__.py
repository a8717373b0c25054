"""One module per deployed function; each is a thin composition root over `shared`."""
