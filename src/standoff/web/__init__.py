"""The local web dashboard (``standoff serve``): FastAPI over the library, one static page."""
