"""The platform's plans for the merchants that signed up themselves: what each costs and takes,
subscribing through Stripe Checkout (subscription mode, on the platform's own Stripe account), and
keeping the merchant's plan in step with Stripe Billing's events."""
