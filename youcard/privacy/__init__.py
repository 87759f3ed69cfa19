"""Personal data over time: retention and erasure, the access log of who looked at a
family, and the subject access report a family may ask for."""
