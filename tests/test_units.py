import numpy as np
import pytest

from glasar.algorithms import GlasarError
from glasar.algorithms import units as U


def test_conversions_worked_by_hand():
    assert U.to_db(np.array([1.0, 0.1, 0.01]), "power") == pytest.approx([0.0, -10.0, -20.0], abs=1e-5)
    assert U.to_db(np.array([1.0, 0.1]), "amplitude") == pytest.approx([0.0, -20.0], abs=1e-5)
    assert U.to_power(np.array([-10.0, 3.0103]), "db") == pytest.approx([0.1, 2.0], rel=1e-4)
    assert U.to_power(np.array([0.5]), "amplitude") == pytest.approx([0.25])
    # Non-positive linear values are nodata (log undefined), never -inf.
    out = U.to_db(np.array([0.0, -1.0, np.nan]), "power")
    assert np.isnan(out).all()


def test_detect_units():
    rng = np.random.default_rng(1)
    power = rng.gamma(4.4, 0.1 / 4.4, 1000)
    assert U.detect_units(power)[0] == "power"
    assert U.detect_units(10 * np.log10(power))[0] == "db"
    assert U.detect_units(np.sqrt(power), "S1A_..._amp.tif")[0] == "amplitude"
    assert U.units_from_text("VV_gamma0_flatDB") is None  # 'flatDB' is not the word dB
    assert U.units_from_text("sigma0 dB") == "db"
    with pytest.raises(GlasarError, match="no valid"):
        U.detect_units(np.zeros(10))


def test_wrong_declaration_is_an_error_not_a_result():
    rng = np.random.default_rng(2)
    db = 10 * np.log10(rng.gamma(4.4, 0.1 / 4.4, 1000))
    with pytest.raises(GlasarError, match="look like dB"):
        U.check_units(db, "power")
    with pytest.raises(GlasarError, match="look like linear"):
        U.check_units(10 ** (db / 10), "db")
    U.check_units(db, "db")
    U.check_units(10 ** (db / 10), "power")


def test_declared_units_win_over_the_file_name(tmp_path):
    """A file name can spell "db" by chance (e.g. a temporary name 3db4...): the UNITS tag stated in
    the metadata decides; the file name is only a hint when the metadata names no unit."""
    from rasters import write_geotiff

    from glasar.algorithms.sar_io import open_scene

    power = np.random.default_rng(2).gamma(4.4, 0.1 / 4.4, (20, 20)).astype(np.float32)
    gt = (440000.0, 20.0, 0, 3080000.0, 0, -20.0)
    tagged = write_geotiff(tmp_path / "e3db41_asc.tif", power, gt, tags={"UNITS": "power"})
    assert U.detect_units(power, open_scene(tagged).units_hint)[0] == "power"
    untagged = write_geotiff(tmp_path / "e3db41_asc.tif", power, gt)  # no tag: the name is the only hint
    assert U.units_from_text(open_scene(untagged).units_hint) == "db"  # "3db4" reads as the word dB
    amplitude = write_geotiff(tmp_path / "S1A_VV_amp.tif", np.sqrt(power), gt, tags={"UNITS": "amplitude"})
    assert U.detect_units(np.sqrt(power), open_scene(amplitude).units_hint)[0] == "amplitude"
