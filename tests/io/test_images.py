"""Geotagged image tables: MP16 / Im2GPS3k / YFCC-style CSVs, bad-row reports, folders."""

import io

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from shdd_geo.io.images import (
    LoadReport,
    load_image_csv,
    read_locations_csv,
    scan_image_folder,
)


def _touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def mp16(tmp_path):
    """An MP16-style layout: ids are paths in nested folders; some rows are broken."""
    root = tmp_path / "mp16"
    for rel in ("00/00/1.jpg", "00/01/2.jpg", "0a/ff/3.jpg", "0a/ff/5.jpg", "0b/00/7.jpg"):
        _touch(root / rel)
    csv = tmp_path / "MP16_Pro_filtered.csv"
    csv.write_text(
        "IMG_ID,AUTHOR,LAT,LON,neighbourhood\n"
        "00/00/1.jpg,a,48.8566,2.3522,x\n"      # 0 ok
        "00/01/2.jpg,b,-33.87,151.21,y\n"       # 1 ok
        "0a/ff/3.jpg,c,NaN,10.0,z\n"            # 2 nan
        "0a/ff/4.jpg,d,10.0,20.0,z\n"           # 3 missing file
        "0a/ff/5.jpg,e,95.0,20.0,z\n"           # 4 lat out of range
        "00/00/1.jpg,f,1.0,1.0,z\n"             # 5 duplicate id
        ",g,1.0,1.0,z\n"                        # 6 missing id
        "0b/00/7.jpg,h,12.5,359.0,z\n"          # 7 ok, lon wraps to -1
        "0b/00/8.jpg,i,north,1.0,z\n"           # 8 non-numeric -> nan (checked before the file)
    )
    return csv, root


def test_mp16_style_bad_rows_are_reported_not_raised(mp16):
    csv, root = mp16
    ds, rep = load_image_csv(csv, root)
    assert len(ds) == 3 and rep.n_rows == 9 and rep.n_ok == 3 and rep.n_bad == 6
    assert rep.bad["row"].tolist() == [2, 3, 4, 5, 6, 8]
    assert rep.bad["reason"].tolist() == [
        "nan_coordinates", "missing_file", "lat_out_of_range", "duplicate_id", "missing_id", "nan_coordinates",
    ]
    assert rep.counts == {"missing_id": 1, "nan_coordinates": 2, "lat_out_of_range": 1,
                          "duplicate_id": 1, "missing_file": 1}
    assert "3 of 9 rows usable" in str(rep)
    # good rows are paired with the right files and coordinates
    assert ds.meta["row"].tolist() == [0, 1, 7]
    assert [p.replace("\\", "/").split("mp16/")[1] for p in ds.paths] == ["00/00/1.jpg", "00/01/2.jpg", "0b/00/7.jpg"]
    np.testing.assert_array_equal(ds.lat, [48.8566, -33.87, 12.5])
    np.testing.assert_array_equal(ds.lon, [2.3522, 151.21, -1.0])
    assert ds.lat.dtype == np.float64 and ds.paths.dtype == object
    assert "missing.jpg" not in rep.bad["detail"].str.cat()
    assert rep.bad.loc[rep.bad["reason"] == "missing_file", "detail"].iloc[0].endswith("4.jpg")


def test_im2gps3k_style_extra_columns_and_default_folder(tmp_path):
    for name in ("a.jpg", "b.jpg"):
        _touch(tmp_path / name)
    csv = tmp_path / "im2gps3k_places365.csv"
    csv.write_text("IMG_ID,AUTHOR,LAT,LON,S3_Label\na.jpg,x,1.5,2.5,0\nb.jpg,y,-1.5,-2.5,2\n")
    ds, rep = load_image_csv(csv, extra_columns=["S3_Label"])
    assert rep.n_bad == 0 and ds.meta["S3_Label"].tolist() == [0, 2]
    ds2, _ = load_image_csv(csv, extra_columns="all")
    assert {"AUTHOR", "S3_Label"} <= set(ds2.meta.columns)


def test_yfcc_style_ids_without_extension_and_numeric_ids(tmp_path):
    _touch(tmp_path / "img" / "0012345.jpg")
    _touch(tmp_path / "img" / "777.png")
    csv = tmp_path / "yfcc4k.csv"
    csv.write_text("img_id,latitude,longitude\n0012345,10,20\n777,30,40\n888,1,1\n")
    ds, rep = load_image_csv(csv, tmp_path / "img")
    assert [p.replace("\\", "/").split("/")[-1] for p in ds.paths] == ["0012345.jpg", "777.png"]
    assert ds.meta["img_id"].tolist() == ["0012345", "777"]  # leading zeros kept
    assert rep.counts == {"missing_file": 1}


def test_column_detection_and_overrides():
    t, rep = read_locations_csv(io.StringIO("Filename,Latitude,LNG\nx,1,2\n"))
    assert t[["img_id", "lat", "lon"]].values.tolist() == [["x", 1.0, 2.0]]
    assert rep.columns == {"id": "Filename", "lat": "Latitude", "lon": "LNG"}
    t, _ = read_locations_csv(io.StringIO("k\ta\tb\nq\t3\t4\n"), sep="\t", id_column="k", lat_column="a",
                              lon_column="b")
    assert t["lat"].tolist() == [3.0]
    with pytest.raises(ValueError, match="latitude column"):
        read_locations_csv(io.StringIO("IMG_ID,foo,LON\nx,1,2\n"))
    with pytest.raises(ValueError, match="`lat_column`"):
        read_locations_csv(io.StringIO("IMG_ID,LAT,LON\nx,1,2\n"), lat_column="nope")
    with pytest.raises(ValueError, match="extra_columns"):
        read_locations_csv(io.StringIO("IMG_ID,LAT,LON\nx,1,2\n"), extra_columns=["nope"])


def test_missing_inputs_raise(tmp_path):
    with pytest.raises(FileNotFoundError, match="`path`"):
        read_locations_csv(tmp_path / "none.csv")
    csv = tmp_path / "t.csv"
    csv.write_text("IMG_ID,LAT,LON\na,1,1\n")
    with pytest.raises(FileNotFoundError, match="`image_dir`"):
        load_image_csv(csv, tmp_path / "no-such-folder")


def test_check_files_off_and_verify_images(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.png")
    _touch(tmp_path / "corrupt.jpg", b"garbage")
    csv = tmp_path / "t.csv"
    csv.write_text("IMG_ID,LAT,LON\nok.png,1,1\ncorrupt.jpg,2,2\nabsent.jpg,3,3\n")
    ds, rep = load_image_csv(csv, check_files=False)
    assert len(ds) == 3 and rep.n_bad == 0
    ds, rep = load_image_csv(csv, verify_images=True)
    assert len(ds) == 1 and rep.counts == {"missing_file": 1, "unreadable_file": 1}
    assert rep.bad["row"].tolist() == [1, 2]


def test_all_rows_bad_gives_empty_dataset(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("IMG_ID,LAT,LON\na,,\nb,100,0\n")
    ds, rep = load_image_csv(csv)
    assert len(ds) == 0 and rep.n_ok == 0 and rep.n_bad == 2


def test_scan_image_folder(tmp_path):
    for rel in ("b.JPG", "a.png", "sub/c.jpeg", "sub/readme.txt", "d.webp"):
        _touch(tmp_path / rel)
    names = [p.replace("\\", "/").split(str(tmp_path.name) + "/")[1] for p in scan_image_folder(tmp_path)]
    assert names == ["a.png", "b.JPG", "d.webp", "sub/c.jpeg"]
    assert len(scan_image_folder(tmp_path, recursive=False)) == 3
    assert len(scan_image_folder(tmp_path, extensions=("png",))) == 1
    with pytest.raises(FileNotFoundError):
        scan_image_folder(tmp_path / "none")


def test_empty_report():
    r = LoadReport(n_rows=5)
    assert (r.n_ok, r.n_bad, r.counts) == (5, 0, {})
    assert str(r) == "input: 5 of 5 rows usable"
