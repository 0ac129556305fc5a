"""The auth room: who is calling (user tokens, JWTs, service keys) and the credentials'
types.

May import stripetopup.core.context and the layers below core; no other room.
"""
