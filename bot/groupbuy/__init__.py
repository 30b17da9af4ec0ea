"""Pure domain logic: parsing, pricing, stock, recap maths. No I/O here."""
