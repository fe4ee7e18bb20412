"""The contracts' doc comments reach gen/shop/comments.json under their full proto names."""

from __future__ import annotations

from google.protobuf import descriptor_pb2

from tools.proto_comments import comments_of


def _file_with_comments() -> descriptor_pb2.FileDescriptorProto:
    file = descriptor_pb2.FileDescriptorProto(name="shop/x/v1/x.proto", package="shop.x.v1")
    message = file.message_type.add(name="Thing")
    message.field.add(name="id")
    message.nested_type.add(name="Part").field.add(name="size")
    enum = file.enum_type.add(name="Colour")
    enum.value.add(name="COLOUR_RED", number=1)
    service = file.service.add(name="ThingService")
    service.method.add(name="GetThing")
    for path, text in [
        ([4, 0], " A thing.\n"),
        ([4, 0, 2, 0], " Id of the thing.\n"),
        ([4, 0, 3, 0, 2, 0], " Size in mm.\n More on a second line.\n"),
        ([5, 0, 2, 0], " Red.\n"),
        ([6, 0], " Things.\n"),
        ([6, 0, 2, 0], " Returns a thing.\n"),
    ]:
        file.source_code_info.location.add(path=path, leading_comments=text)
    return file


def test_every_element_is_named_as_protobuf_names_it() -> None:
    assert comments_of([_file_with_comments()]) == {
        "shop.x.v1.Thing": "A thing.",
        "shop.x.v1.Thing.id": "Id of the thing.",
        "shop.x.v1.Thing.Part.size": "Size in mm.\nMore on a second line.",
        "shop.x.v1.Colour.COLOUR_RED": "Red.",
        "shop.x.v1.ThingService": "Things.",
        "shop.x.v1.ThingService.GetThing": "Returns a thing.",
    }


def test_files_outside_the_shop_packages_are_left_out() -> None:
    other = _file_with_comments()
    other.package = "google.api"
    assert comments_of([other]) == {}
