"""The OpenAPI 3.1 description of the JSON API, served at ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

from analysis.indicators import INDICATORS

_NUMBER_OR_NULL = {"type": ["number", "null"]}
_LABELS = (
    "indicator",
    "programme",
    "year",
    "instrument",
    "domain",
    "n",
    "estimate",
    "interval",
    "confidence",
    "value",
    "method",
    "target",
    "target_status",
    "p_value",
    "p_adjusted",
    "effect_size",
)


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(server_url: str, version: str) -> dict[str, Any]:
    """The document; ``server_url`` is the app's base URL."""
    record = {
        "type": "object",
        "description": "One indicator record of `analysis` (fields of indicators.md) with its "
        "display labels. Suppressed records carry no n, estimate or interval.",
        "required": [
            "institution",
            "programme",
            "year",
            "indicator",
            "n",
            "estimate",
            "suppressed",
            "labels",
        ],
        "properties": {
            "institution": {"type": "string"},
            "programme": {"type": "string", "description": "`*` is the institution as a whole"},
            "year": {
                "type": "integer",
                "description": "graduation year; a pooled record (flag `pooled`) covers the "
                "three years up to this one",
            },
            "instrument": {"type": ["string", "null"]},
            "indicator": {
                "type": "string",
                "enum": [*INDICATORS, *(f"{i}_change" for i in INDICATORS)],
            },
            "domain": {"type": ["string", "null"]},
            "n": {"type": ["integer", "null"]},
            "estimate": _NUMBER_OR_NULL,
            "ci_low": _NUMBER_OR_NULL,
            "ci_high": _NUMBER_OR_NULL,
            "confidence_level": {"type": "number"},
            "method": {"type": ["string", "null"]},
            "flags": {
                "type": "array",
                "items": {
                    "type": "string",
                    "enum": [
                        "pooled",
                        "low_n",
                        "single_rater",
                        "undefined",
                        "significant",
                        "secondary_suppression",
                    ],
                },
            },
            "suppressed": {"type": "boolean"},
            "target": _NUMBER_OR_NULL,
            "target_status": {
                "type": ["string", "null"],
                "enum": ["met", "not_met", "inconclusive", None],
            },
            "p_value": _NUMBER_OR_NULL,
            "p_adjusted": _NUMBER_OR_NULL,
            "effect_size": _NUMBER_OR_NULL,
            "labels": {"$ref": "#/components/schemas/Labels"},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Hamkor indicators API",
            "version": version,
            "summary": "Quality-of-training indicators of the programmes you may read.",
            "description": "Read-only. Authenticate with a personal API token (created on the "
            "API tokens page of your account) sent as `Authorization: Bearer hamkor_…`, or with "
            "a logged-in browser session. The records are the ones the pages show, computed "
            "once per change of the data and settings; numbers are unrounded, `labels` are "
            "rounded and worded for people. No personal data is ever returned.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerToken": []}, {"session": []}],
        "paths": {
            "/api/indicators": {
                "get": {
                    "operationId": "getIndicators",
                    "summary": "Indicator records of one institution and graduation year",
                    "parameters": [
                        {
                            "name": "institution",
                            "in": "query",
                            "required": True,
                            "description": "institution code (case-insensitive)",
                            "schema": {"type": "string", "maxLength": 32},
                        },
                        {
                            "name": "year",
                            "in": "query",
                            "required": True,
                            "description": "graduation year of the cohort",
                            "schema": {"type": "integer", "minimum": 1950, "maximum": 2100},
                        },
                        {
                            "name": "programme",
                            "in": "query",
                            "required": False,
                            "description": "programme code, or `*` for the institution as a "
                            "whole; without it, every programme you may read",
                            "schema": {"type": "string", "maxLength": 32},
                        },
                        {
                            "name": "lang",
                            "in": "query",
                            "required": False,
                            "description": "language of the labels (default: Accept-Language, "
                            "else English)",
                            "schema": {"type": "string", "enum": ["uz", "ru", "en"]},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The records (an empty list when there are none)",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/IndicatorAnswer"}
                                }
                            },
                        },
                        "400": _error("A parameter is missing or malformed"),
                        "401": _error("No credentials, or a token unknown, revoked or expired"),
                        "403": _error("The institution or programme is outside your scope"),
                        "404": _error("No such institution or programme"),
                    },
                }
            }
        },
        "components": {
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a personal API token, `hamkor_<key id>_<secret>`",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "hamkor_session"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
                "Labels": {
                    "type": "object",
                    "description": "The record as the pages show it, in the requested language",
                    "properties": {
                        **{name: {"type": "string"} for name in _LABELS},
                        "flags": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "Record": record,
                "IndicatorAnswer": {
                    "type": "object",
                    "required": ["institution", "year", "language", "settings", "records"],
                    "properties": {
                        "institution": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "name": {"type": "string"},
                            },
                        },
                        "year": {"type": "integer"},
                        "programme": {"type": ["string", "null"]},
                        "language": {"type": "string", "enum": ["uz", "ru", "en"]},
                        "settings": {
                            "type": "object",
                            "properties": {
                                "version": {"type": "integer"},
                                "confidence_level": {"type": "number"},
                                "min_n": {"type": "integer"},
                                "low_n": {"type": "integer"},
                                "fpc": {"type": "boolean"},
                                "targets": {
                                    "type": "object",
                                    "additionalProperties": {"type": "number"},
                                },
                            },
                        },
                        "data_version": {"type": "integer"},
                        "as_of": {"type": "string", "format": "date"},
                        "computed_at": {"type": "string", "format": "date-time"},
                        "fields": {"type": "array", "items": {"type": "string"}},
                        "records": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Record"},
                        },
                    },
                },
            },
        },
    }
