"""HTTP transport: routes, authentication, request decoding, the response envelope."""
