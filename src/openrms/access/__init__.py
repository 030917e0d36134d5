"""Access control: agencies, users, roles, vetting, sharing agreements, the policy decision point, audit.

Sits above the store and below the API: it turns a signed-in subject into a `ReadScope` whose SQL
conditions the store, the master index and search put inside every query.
"""
