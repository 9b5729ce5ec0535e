"""Advisory feed parsers: OSV, NVD CVE 2.0, CSAF 2.0, the CISA KEV catalog and EPSS scores.

Each module turns one source format into the normalised types of `nemecys.vulns.model`.
`reader` finds the documents under the paths of an import and picks the parser for each.
`download` fetches the public feeds for `nemecys db update`. Nothing here touches a database.
"""
