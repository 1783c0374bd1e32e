"""Transactional email: committed order changes become notification messages (the orders table's
stream is the outbox), which are rendered in the customer's language and sent once through SES."""
