"""Payment providers behind one interface, and the settlement path they all share."""
