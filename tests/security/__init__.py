"""The security suite (issue 10), tier 1, run in both tiers.

- test_url_matrix: every URL pattern × five roles against url_table.EXPECTED; an unclassified pattern fails.
- test_csrf: every POST/PUT/PATCH/DELETE without a token refused; the exemptions listed, each one's guard tested.
- test_link_probes: open redirects, tampered and foreign tokens, replays on email and form links.
- test_stored_xss, test_template_sandbox: payloads in every text field, escaped everywhere; Jinja escapes refused.
- test_sql_injection: every admin search/filter/sort, the workspace, API query parameters, segment conditions.
- test_csv_injection: every text/csv answer neutralises formula cells (mautomation/lib/spreadsheet_cells.py).
- test_rate_limits: every public endpoint's limit (or designed answer), logins and API tokens included.
- test_fuzzing: hypothesis (profile in conftest.py) on the leads/events API and the form endpoint.
- `manage.py check --deploy` with production settings:
  tests/foundation/test_config.py::test_production_settings_pass_the_deploy_check (and scripts/smoke.py).
"""
