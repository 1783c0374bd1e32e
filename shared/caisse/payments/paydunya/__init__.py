"""PayDunya (West Africa, XOF)."""
