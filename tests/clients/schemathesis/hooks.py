"""schemathesis hooks for hubport (loaded by run.sh through SCHEMATHESIS_HOOKS).

POST /crm/v3/imports takes multipart/form-data whose `importRequest` part is a JSON document in a
string, so schemathesis' generated bodies are (rightly) refused with 400 nearly every time. To
also fuzz the success path - and so check the 200 PublicImportResponse of the POST against the
schema, and give the stateful phase real import ids to follow - this hook makes about half of the
generated bodies a valid upload: a small CSV plus an importRequest that maps it, with a random
name and a random mix of the optional settings. The other half stay schemathesis' own.

schemathesis names the file part after its field, `files` (no extension), so the
importRequest names the file `files` too.
"""

import json

import schemathesis
from hypothesis import strategies as st

CSV_ROWS = [
    "ada@analytical.example,Ada,Lovelace",
    "grace.hopper@navy.example,Grace,Hopper",
    "not-an-email,Edsger,Dijkstra",
    "BARBARA@MIT.EXAMPLE,Barbara,Liskov",
    ",Nobody,Blank",
]


def _is_create_import(ctx) -> bool:
    op = ctx.operation
    return op is not None and op.method.upper() == "POST" and op.path.rstrip("/") == "/crm/v3/imports"


@st.composite
def _valid_upload(draw):
    rows = draw(st.lists(st.sampled_from(CSV_ROWS), min_size=0, max_size=8))
    header = draw(st.sampled_from(["Email,First Name,Last Name", "email,firstname,lastname"]))
    csv = ("\n".join([header, *rows]) + "\n").encode()
    request = {
        "name": draw(st.text(min_size=0, max_size=40)),
        "files": [
            {
                "fileName": "files",
                "fileFormat": "CSV",
                "fileImportPage": {
                    "hasHeader": True,
                    "columnMappings": [
                        {"columnObjectTypeId": "0-1", "columnName": "Email", "propertyName": "email",
                         "columnType": "HUBSPOT_ALTERNATE_ID"},
                        {"columnObjectTypeId": "0-1", "columnName": "First Name", "propertyName": "firstname"},
                        {"columnObjectTypeId": "0-1", "columnName": "Last Name", "propertyName": "lastname"},
                    ],
                },
            }
        ],
    }
    op = draw(st.sampled_from([None, "CREATE", "UPDATE", "UPSERT"]))
    if op:
        request["importOperations"] = {"0-1": op}
    date_format = draw(st.sampled_from([None, "DAY_MONTH_YEAR", "MONTH_DAY_YEAR", "YEAR_MONTH_DAY"]))
    if date_format:
        request["dateFormat"] = date_format
    return {"importRequest": json.dumps(request), "files": [csv]}


@schemathesis.hook("flatmap_body")
def valid_import_uploads(ctx, body):
    if not _is_create_import(ctx):
        return st.just(body)
    return st.one_of(st.just(body), _valid_upload())
