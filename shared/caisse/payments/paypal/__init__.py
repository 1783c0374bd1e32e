"""PayPal Orders v2."""
