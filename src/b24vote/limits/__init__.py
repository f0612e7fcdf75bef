"""Request limits: the leaky bucket and the operating-time budget (pure maths + stores)."""
