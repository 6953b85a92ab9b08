"""The baseline for bench/serve_bench.py: Flask answering the same routes with fixed replies."""

from __future__ import annotations

from flask import Flask, Response, jsonify

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>OK</Message></Response>'


def create_app():
    """Routes with the service's paths and nothing behind them."""
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.post("/twilio/messaging")
    def messaging():
        return Response(TWIML, content_type="text/xml")

    return app
