"""The gateway: Tauro's REST API (FastAPI, prefix ``/api/v1``).

Writes are turned into commands on the bus and answered once the owning service has
decided (so domain rejections come back synchronously); reads are served from the
read models. Every response uses the API's ``{data, meta}`` / ``{error, meta}``
envelopes.
"""

VERSION = "0.1.0"
