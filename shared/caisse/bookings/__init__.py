"""Bookings: services with a duration and a deposit, bookable slots in the merchant's time zone,
the deposit charged on the merchant's own Stripe account, the balance charged after the job."""
