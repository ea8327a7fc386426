"""REST routes of the vendor service, one module per area."""
