"""The platform's view of its merchants: every merchant with its plan, onboarding and activity, and
suspending one (platform staff only)."""
