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


class RoutesMatchTest(unittest.TestCase):
    """Each documented route reaches an operation: a wrong-but-routed request never answers no_route."""

    def test_documented_routes_are_routed(self):
        api = load_openapi()
        sim = h.Sim("population")
        gw = h.Gateway(sim)
        try:
            configured = set(gw.config["upstreams"])
            for path, ops in api["paths"].items():
                concrete = path.replace("{code}", "0100233488").replace("{tax_code}", "0100233488") \
                    .replace("{number}", "0123456789") \
                    .replace("{payment_id}", "LT20261123-0123456789abcdef")
                for method in ops:
                    with self.subTest(route="%s %s" % (method.upper(), path)):
                        r = h.https_request(gw.port, method.upper(), concrete, body={} if method == "post" else None,
                                            headers=h.officer_headers())
                        system = {"citizens": "population", "businesses": "business", "taxpayers": "tax",
                                  "insured": "insurance", "payments": "payments"}[path.split("/")[2]]
                        if system == "payments":
                            # Routed without a payments section too: it answers why it cannot serve.
                            self.assertEqual(r.json.get("type"), "urn:lienthong:problem:payments_not_configured", r)
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
