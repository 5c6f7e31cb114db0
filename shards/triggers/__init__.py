"""Event triggers: definitions, the transactional outbox, signed webhook delivery.

See docs/triggers.md for the design.
"""
