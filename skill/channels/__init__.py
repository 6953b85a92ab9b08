"""Channels: one module (or package) per platform, each reading its requests into the service's
`Inbound` and writing replies in its own format. What every channel shares, the contract, is in
skill.channels.base (the fault fallback) and skill.service (the conversation, audit, metrics and
the clinic alert)."""
