"""Stripe: Checkout Sessions for card payments, and the events that settle them."""
