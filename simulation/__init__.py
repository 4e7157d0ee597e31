"""The ledger driven from outside: a generated renewal programme (`programme`), which
`oneruler demo` ingests, and the bench that measures the ledger on it (`bench`)."""
