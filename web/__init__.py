"""The office's web application (specs/web.md): pages for each role and the JSON API
under /api/v1, served by `oneruler serve`. It reads through the read facade and writes
through the ledger's command API, as the command line does; docs/web.md says how a
page is added."""
