"""Routes outside the REST API that browsers follow: report downloads, result pages."""
