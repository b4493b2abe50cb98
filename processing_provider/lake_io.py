"""Shared inventory reading and per-lake output writing for the lake algorithms."""
import csv
import os

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QCoreApplication, QVariant

from ..algorithms import pipeline

_QVARIANT = {str: QVariant.String, float: QVariant.Double}


def result_fields():
    fields = QgsFields()
    for name, kind in pipeline.RESULT_FIELDS:
        fields.append(QgsField(name, _QVARIANT[kind]))
    return fields


def write_csv_atomically(path, rows, columns):
    """Write rows (dicts) to a CSV via a temporary file in the same folder, then rename."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".glasar_{os.getpid()}_{os.path.basename(path)}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:  # normal (umask) permissions
            writer = csv.DictWriter(fh, fieldnames=list(columns))
            writer.writeheader()
            for row in rows:
                writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise




def read_lakes(source, id_field, context):
    """Inventory features as pipeline.LakeInput in EPSG:4326 (lon/lat), inventory order."""
    if QgsWkbTypes.geometryType(source.wkbType()) != QgsWkbTypes.PolygonGeometry:
        raise QgsProcessingException(QCoreApplication.translate(
            "GlasarAlgorithm", "The inventory must be a polygon layer (it has {} geometries).").format(
            QgsWkbTypes.displayString(source.wkbType())))
    wgs84 = QgsCoordinateReferenceSystem("EPSG:4326")
    request = QgsFeatureRequest().setDestinationCrs(wgs84, context.transformContext())
    lakes = []
    # Invalid polygons are repaired (or reported) per lake by the pipeline, not fatal to the run.
    for feat in source.getFeatures(request, QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks):
        lake_id = str(feat[id_field]) if id_field else str(feat.id())
        geom = feat.geometry()
        wkb = bytes(geom.asWkb()) if geom is not None and not geom.isNull() else b""
        lakes.append(pipeline.LakeInput(lake_id, wkb))
    return lakes


def write_lake_outputs(alg, parameters, context, source, results, output_key, table_key):
    """One feature per lake (geometry in the inventory CRS, none when not mapped) and the CSV."""
    sink, dest_id = alg.parameterAsSink(parameters, output_key, context, result_fields(),
                                        QgsWkbTypes.MultiPolygon, source.sourceCrs())
    if sink is None:
        raise QgsProcessingException(alg.invalidSinkError(parameters, output_key))
    to_inventory = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), source.sourceCrs(),
                                          context.transformContext())
    fields = result_fields()
    for res in results:
        feat = QgsFeature(fields)
        if res.wkb:
            geom = QgsGeometry()
            geom.fromWkb(res.wkb)
            geom.transform(to_inventory)
            feat.setGeometry(geom)
        feat.setAttributes([res.fields.get(name) for name, _ in pipeline.RESULT_FIELDS])
        sink.addFeature(feat, QgsFeatureSink.FastInsert)
    outputs = {output_key: dest_id}
    table = alg.parameterAsFileOutput(parameters, table_key, context)
    if table:
        write_csv_atomically(table, [r.fields for r in results], [n for n, _ in pipeline.RESULT_FIELDS])
        outputs[table_key] = table
    return outputs
