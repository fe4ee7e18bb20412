"""Search rules: documents and their version rules, queries and pages. No I/O."""
