"""The pure core: Sigma parsing, evaluation and explanation (sigma/) and the ATT&CK and event reference data
(reference/). Plain Python, no Django: it runs in import workers, the matcher and tests without a database.
"""
