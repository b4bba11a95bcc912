"""schemas/ stays true: every schema is a valid JSON Schema, openapi.yaml references only schemas that
exist, and every route it documents is one the real gateway routes (and the reverse, for /v1 routes
the adapters declare). Responses themselves are validated on every request in harness.https_request."""
import json
import os
import unittest

import harness as h

SCHEMAS = os.path.join(h.SOURCE_DIR, "schemas")


def load_openapi():
    import yaml  # Debian's python3-yaml

    with open(os.path.join(SCHEMAS, "openapi.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


class SchemaFilesTest(unittest.TestCase):
    def test_every_schema_is_a_valid_draft_2020_12_schema(self):
        import jsonschema

        names = [n for n in os.listdir(SCHEMAS) if n.endswith(".schema.json")]
        self.assertIn("citizen.schema.json", names)
        for name in names:
            with self.subTest(schema=name), open(os.path.join(SCHEMAS, name), encoding="utf-8") as f:
                doc = json.load(f)
                jsonschema.Draft202012Validator.check_schema(doc)
                self.assertTrue(doc["$id"].endswith("/" + name), "$id should end with the file name")

    def test_openapi_references_resolve(self):
        api = load_openapi()
        for ref in set(refs(api)):
            with self.subTest(ref=ref):
                if ref.startswith("#/"):
                    node = api
                    for part in ref[2:].split("/"):
                        self.assertIn(part, node, "dangling %s" % ref)
                        node = node[part]
                else:
                    self.assertTrue(os.path.exists(os.path.join(SCHEMAS, ref)), "missing schema file %s" % ref)


class HarnessRouteSchemasTest(unittest.TestCase):
    """harness.https_request checks every answer against the schema openapi.yaml gives its route: that table is
    read from openapi.yaml, so it must see every documented operation and really refuse a wrong record."""

    def test_every_documented_operation_has_a_success_schema(self):
        api = load_openapi()
        methods = ("get", "put", "post", "delete", "patch")
        documented = [(m.upper(), p) for p, ops in api["paths"].items() for m in ops if m in methods]
        routes = h.api_routes()
        self.assertEqual(len(routes), len(documented))
        for method, pattern, schemas in routes:
            with self.subTest(route="%s %s" % (method, pattern.pattern)):
                self.assertTrue(any(200 <= status < 300 for status in schemas), schemas)

    def test_a_record_that_breaks_its_schema_fails_the_request(self):
        wrong = h.Response(200, {"content-type": "application/json"}, b'{"tax_code": 7}')
        with self.assertRaises(AssertionError) as e:
            h.check_against_schema("/v1/taxpayers/0100233488", wrong, "GET")
        self.assertIn("taxpayer.schema.json", str(e.exception))
        # A {parameter} is one segment: a deeper path is no documented route, so nothing is checked.
        h.check_against_schema("/v1/taxpayers/0100233488/more", wrong, "GET")
        # The method counts: POST /v1/payments answers payment_created, GET /v1/payments/{id} a payment.
        self.assertEqual(h.route_schema("POST", "/v1/payments", 201), "payment_created.schema.json")
        self.assertEqual(h.route_schema("GET", "/v1/payments/LT20261123-0123456789abcdef", 200), "payment.schema.json")
        self.assertIsNone(h.route_schema("GET", "/v1/payments", 200))


class RoutesMatchTest(unittest.TestCase):
    """Each documented route reaches an operation: a wrong-but-routed request never answers no_route."""

    def test_documented_routes_are_routed(self):
        api = load_openapi()
        sim = h.Sim("population")
        # civil-status is configured too, toward a system it never reaches: an empty body is refused before any call.
        gw = h.Gateway(sim, overrides={"upstreams": {"civil-status": h.civil_status_upstream(sim)}})
        try:
            configured = set(gw.config["upstreams"])
            for path, ops in api["paths"].items():
                concrete = path.replace("{code}", "0100233488").replace("{tax_code}", "0100233488") \
                    .replace("{number}", "0123456789") \
                    .replace("{commune}", "12616").replace("{sheet}", "12").replace("{parcel}", "345") \
                    .replace("{serial}", "DA%2001234567") \
                    .replace("{payment_id}", "LT20261123-0123456789abcdef") \
                    .replace("{dossier_id}", "000.00.12.H53-261122-0001")
                for method in ops:
                    with self.subTest(route="%s %s" % (method.upper(), path)):
                        r = h.https_request(gw.port, method.upper(), concrete, body={} if method == "post" else None,
                                            headers=h.officer_headers())
                        system = {"citizens": "population", "businesses": "business", "taxpayers": "tax",
                                  "insured": "insurance", "land": "land", "civil-status": "civil-status",
                                  "payments": "payments", "dossiers": "dossiers"}[path.split("/")[2]]
                        if system in ("payments", "dossiers"):
                            # Routed without the module's section too: it answers why it cannot serve.
                            self.assertEqual(r.json.get("type"), "urn:lienthong:problem:%s_not_configured" % system, r)
                        elif system in configured:
                            self.assertNotEqual(r.json.get("type"), "urn:lienthong:problem:no_route", r)
                        else:
                            # Routes exist only for configured national systems.
                            self.assertEqual(r.status, 404, r)
            r = h.https_request(gw.port, "GET", "/v1/nothing-here", headers=h.officer_headers())
            self.assertEqual(r.json["type"], "urn:lienthong:problem:no_route", "the negative control must 404")
        finally:
            gw.kill()
            sim.kill()


if __name__ == "__main__":
    unittest.main()
