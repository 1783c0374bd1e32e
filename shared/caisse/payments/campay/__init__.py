"""CamPay (Cameroon, MTN and Orange mobile money, XAF)."""
