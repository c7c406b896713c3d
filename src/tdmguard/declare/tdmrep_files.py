"""TDMRep's ``/.well-known/tdmrep.json`` and the ODRL TDM policy it points to.

W3C TDMRep CG Final Report (optout-protocols.md §1.2, §1.7): the well-known file is a JSON
array of rules, first match wins, so specific rules come first; the policy is an ODRL 2.2
``Offer`` in the TDMRep profile with a ``tdm:mine`` permission whose duties say how to get
a licence.
"""

from __future__ import annotations

import json

from tdmguard.declare.declaration import HolderDeclaration
from tdmguard.declare.labels import tdm_reservation
from tdmguard.vocab import Purpose

__all__ = ["render_tdm_policy", "render_tdmrep_json", "tdmrep_rules"]


def _location(path: str) -> str:
    # TDMRep locations use robots.txt wildcards (§1.2); a directory prefix needs "*" to
    # cover what is below it (a bare "/music/" would match only that URL in some readers).
    return path if path.endswith(("*", "$")) else path + "*"


def tdmrep_rules(decl: HolderDeclaration) -> list[dict[str, object]]:
    """The rules, most specific path first; empty when ``tdm`` is not reserved (TDMRep
    cannot express a narrower reservation, see ``labels.tdm_reservation``)."""
    if not tdm_reservation(decl.reserved_uses):
        return []
    paths = sorted(decl.reserved_paths, key=len, reverse=True)
    return [
        {"location": _location(p), "tdm-reservation": 1, "tdm-policy": decl.policy_url}
        for p in paths
    ]


def render_tdmrep_json(decl: HolderDeclaration) -> str:
    return json.dumps(tdmrep_rules(decl), indent=2) + "\n"


def render_tdm_policy(decl: HolderDeclaration) -> str:
    """The ODRL policy (§1.7). Mining is offered under a licence (duties ``obtainConsent``
    and ``compensate``); when research is not reserved, the offer is scoped to
    ``tdm:non-research`` purposes and research stays outside the reservation (EU DSM Art. 3)."""
    assigner: dict[str, object] = {
        "uid": decl.base_url,
        "vcard:fn": decl.holder,
        "vcard:hasEmail": f"mailto:{decl.contact_email}",
        "vcard:hasURL": decl.licensing_url,
    }
    permission: dict[str, object] = {
        "action": "tdm:mine",
        "target": decl.base_url + "/",
        "duty": [{"action": "obtainConsent"}, {"action": "compensate"}],
    }
    if Purpose.RESEARCH not in decl.purposes:
        permission["constraint"] = [
            {"leftOperand": "purpose", "operator": "eq", "rightOperand": "tdm:non-research"}
        ]
    policy = {
        "@context": ["http://www.w3.org/ns/odrl.jsonld", "http://www.w3.org/ns/tdmrep.jsonld"],
        "@type": "Offer",
        "profile": "http://www.w3.org/ns/tdmrep",
        "uid": decl.policy_url,
        "assigner": assigner,
        "permission": [permission],
    }
    return json.dumps(policy, indent=2, ensure_ascii=False) + "\n"
