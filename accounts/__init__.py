"""The register of new-media accounts: filings, posts, ad screening, activity."""
