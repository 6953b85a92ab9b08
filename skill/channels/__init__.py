"""Channels: one module per platform, each parsing its requests and rendering replies in its
own format. What every channel shares lives in skill.service."""
