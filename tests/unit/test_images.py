"""Image tags are hashes of their inputs: stable for an unchanged tree, new when an input changes."""

from fixtures.engine import images


def test_tags_are_stable_for_an_unchanged_tree():
    assert images.base_tag() == images.base_tag()
    assert images.stack_tag() == images.stack_tag()


def test_the_base_tag_follows_the_package_list(monkeypatch):
    before = images.base_tag()
    packages = images.base_packages()
    monkeypatch.setattr(images, "base_packages", lambda: packages + ["htop"])
    assert images.base_tag() != before


def test_a_changed_service_file_changes_the_stack_tag(tmp_path, monkeypatch):
    service_dir = tmp_path / "images" / "redis"
    service_dir.mkdir(parents=True)
    dockerfile = service_dir / "Dockerfile"
    dockerfile.write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    monkeypatch.setattr(images, "STACK_DIR", tmp_path)
    before = images.stack_tag()
    (tmp_path / "docker-compose.yml").write_text("services: {}\n")
    assert images.stack_tag() == before, "the compose file is not an image input"
    dockerfile.write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nUSER redis\n")
    assert images.stack_tag() != before


def test_every_service_has_a_dockerfile_built_from_the_base():
    assert set(images.service_names()) >= {"postgres", "rabbitmq", "redis", "api-gateway", "order-service", "nginx"}
    for service, dockerfile in images.dockerfiles().items():
        text = dockerfile.read_text()
        assert "FROM ${BASE_IMAGE}" in text and "apt-get" not in text, service


def test_a_platform_brings_its_own_images_and_its_compose_file_is_no_input(tmp_path, monkeypatch):
    (tmp_path / "images" / "redis").mkdir(parents=True)
    (tmp_path / "images" / "redis" / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    platform = tmp_path / "pliers"
    (platform / "images" / "api").mkdir(parents=True)
    (platform / "images" / "api" / "Dockerfile").write_text("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n")
    monkeypatch.setattr(images, "STACK_DIR", tmp_path)
    monkeypatch.setattr(images, "IMAGES_DIR", tmp_path / "images")
    assert images.service_names() == ["pliers-api", "redis"]
    before = images.stack_tag()
    (platform / "docker-compose.yml").write_text("services: {}\n")
    (platform / "README.md").write_text("Pliers\n")
    assert images.stack_tag() == before, "a platform's compose file and docs are not image inputs"
    (platform / "nginx").mkdir()
    (platform / "nginx" / "nginx.conf").write_text("events {}\n")
    assert images.stack_tag() != before, "a platform's other files may be COPYd into its images"
