"""Autopilot: schema inference and ``sys.heatwave_load`` (HeatWave's Auto Parallel Load).

Point it at files (a bucket, a prefix, an Aurora snapshot export, a Redshift UNLOAD) and
it infers the tables, writes HeatWave DDL for them, estimates the cluster they need and
loads them, recording every decision in ``sys.heatwave_autopilot_report``.

Pipeline (one module per stage): :mod:`options` parses the call, :mod:`plan` decides
the tables, :mod:`infer` infers each new one (:mod:`sniff`, :mod:`sample`, :mod:`text`,
:mod:`typed`, :mod:`profile`, :mod:`merge`; exports via :mod:`aurora` and
:mod:`redshift`), :mod:`script` writes the SQL, :mod:`load` runs it (widening columns the
sample got too narrow), :mod:`procedure` is the ``CALL`` and its output sections,
:mod:`report` / :mod:`report_table` the record.
"""
