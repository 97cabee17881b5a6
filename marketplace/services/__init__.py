"""Business operations. They take plain values, add/flush, raise MarketplaceError, and never commit:
the caller (a view or a CLI command) commits or rolls back."""
