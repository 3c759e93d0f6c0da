"""The work behind the routes: accounts, libraries, uploads, analysis, tags, recommendations."""
