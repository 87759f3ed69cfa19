"""What a benefit is: the stored records (models), their enums, the budget arithmetic, and
the pure rules of a benefit, a card and a partner (entitlement_rules, usability)."""
