"""The transparency log (docs/integrity.md), in three parts: `store` keeps the tree
and checkpoints in the events' database; `verification` recomputes them from the
stored rows, with the checks each process makes over its pages in `pages`; and
`audit` is what an auditor needs, with no database at all.

Nothing is imported here: the auditor's side must load without the storage."""
